//! The whole gradient-check catalogue: ops and activations (gradus-autodiff),
//! layers (gradus-nn) and losses (gradus-loss). What `cargo xtask gradcheck`
//! runs, in release mode.
//!
//! `cargo run --release -p gradus-nn --example gradcheck -- [--filter S] [--seed N] [--json]`

fn main() -> std::process::ExitCode {
    let mut cases = gradus_autodiff::catalogue::cases();
    cases.extend(gradus_nn::catalogue::cases());
    cases.extend(gradus_loss::catalogue::cases());
    gradus_autodiff::report::main(cases)
}

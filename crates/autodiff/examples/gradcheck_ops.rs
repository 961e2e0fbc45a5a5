//! Runs this crate's gradient-check cases (the ops and activations). The
//! whole catalogue, layers and losses included, is `cargo xtask gradcheck`.
//!
//! `cargo run --release -p gradus-autodiff --example gradcheck_ops -- [--filter S] [--seed N] [--json]`

fn main() -> std::process::ExitCode {
    gradus_autodiff::report::main(gradus_autodiff::catalogue::cases())
}

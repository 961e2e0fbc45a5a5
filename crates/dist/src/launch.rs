//! Launch detection: `mpirun` (Open MPI) and PMI launchers (MPICH, Slurm)
//! tell each process its rank and the world size in the environment.

/// Where this process sits in a launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    /// This process's rank, from 0.
    pub rank: usize,
    /// The number of processes started together.
    pub size: usize,
}

/// The launch this process is part of, when a launcher started it as one of
/// one or more ranks: Open MPI's `OMPI_COMM_WORLD_SIZE`/`_RANK`, else PMI's
/// `PMI_SIZE`/`PMI_RANK`. `None` for a process started on its own.
///
/// ```
/// // A plain `cargo test` is not under mpirun.
/// if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_none() && std::env::var_os("PMI_SIZE").is_none() {
///     assert_eq!(gradus_dist::launched(), None);
/// }
/// ```
pub fn launched() -> Option<Launch> {
    from(|k| std::env::var(k).ok())
}

/// `mpirun -np np` as the tests and benches start it: the TCP transport
/// that crosses machines (on loopback) rather than shared memory, more
/// ranks than cores allowed, no binding to cores, and root allowed (CI's
/// machines run as root). Add the program and its arguments.
///
/// ```
/// let cmd = gradus_dist::loopback_mpirun(2);
/// assert_eq!(cmd.get_program(), "mpirun");
/// assert!(cmd.get_args().any(|a| a == "self,tcp"));
/// ```
pub fn loopback_mpirun(np: usize) -> std::process::Command {
    let mut cmd = std::process::Command::new("mpirun");
    cmd.args(["-np", &np.to_string(), "--oversubscribe", "--bind-to", "none"])
        .args(["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    cmd
}

/// Whether `mpirun` runs here.
pub fn has_mpirun() -> bool {
    std::process::Command::new("mpirun").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn from(var: impl Fn(&str) -> Option<String>) -> Option<Launch> {
    let read = |k: &str| var(k).and_then(|v| v.trim().parse::<usize>().ok());
    for (size, rank) in [("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"), ("PMI_SIZE", "PMI_RANK")] {
        if let Some(size) = read(size).filter(|&s| s > 0) {
            return Some(Launch { rank: read(rank).unwrap_or(0), size });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_mpi_then_pmi() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(from(env(&[])), None);
        assert_eq!(
            from(env(&[("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "3")])),
            Some(Launch { rank: 3, size: 4 })
        );
        assert_eq!(from(env(&[("PMI_SIZE", "2"), ("PMI_RANK", "1")])), Some(Launch { rank: 1, size: 2 }));
        assert_eq!(from(env(&[("PMI_SIZE", "zero")])), None);
        assert_eq!(from(env(&[("OMPI_COMM_WORLD_SIZE", "0")])), None);
    }
}

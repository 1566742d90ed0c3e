//! The `bugstack` command-line program: collector, incident store, fix jobs.
//! See `bugstack --help` and `docs/cli.md`.

fn main() -> std::process::ExitCode {
    bugstack::cli::main()
}

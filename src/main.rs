//! The `bugstack` command-line program (collector, fix jobs, demo).

fn main() {
    eprintln!("bugstack: the command-line program is not built yet (see issue \"The bugstack binary\").");
    std::process::exit(2);
}

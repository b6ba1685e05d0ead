//! `processd-launch`: the confining launcher of runs, installed next to `processd` (see
//! `process_runner::launcher`). A program of its own, small, so that starting it costs a
//! run little: it links none of the service.

fn main() {
    std::process::exit(process_runner::launcher::dispatch().unwrap_or(2));
}

//! Runnable examples for the VI toolbox; see the `examples/` folder. The helpers here are shared
//! by the command-line examples.

use indicatif::{ProgressBar, ProgressStyle};

pub mod flags;

/// The examples that link this library (`uci`, `classify`, `clgp`) allocate with mimalloc, which
/// keeps freed buffers for reuse; glibc's malloc hands large ones back to the kernel and
/// page-faults them in again at the next step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A progress bar of `len` steps labelled `what` (`what ▕bar▏ pos/len message`), or a hidden one
/// when `quiet`.
///
/// # Example
/// ```
/// let bar = vi_examples::progress_bar(true, 10, "epochs");
/// bar.inc(1);
/// assert_eq!(bar.position(), 1);
/// ```
pub fn progress_bar(quiet: bool, len: usize, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template(&format!("{what} {{bar:30}} {{pos}}/{{len}} {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

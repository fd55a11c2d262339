//! Silencing libtss2's own logging.
//!
//! libtss2 writes `WARNING:esys:...` / `ERROR:tcti:...` lines to stderr on
//! every failed TPM call, which breaks the one-line error contract (and
//! floods a journal when `serve` retries). Its only switch is the `TSS2_LOG`
//! environment variable, read by each library on its first log call, so it
//! must be set before the first TPM context is created. There is no API for
//! it, hence `set_var` (in `crate::ffi`, with the agent's other `unsafe`).

use std::sync::Once;

/// `TSS2_LOG` value that turns every libtss2 module's logging off.
const QUIET: &str = "all+NONE";

/// Sets `TSS2_LOG=all+NONE` for this process, once. With `--debug` a value
/// the user set is kept, so libtss2's own diagnostics can be asked for.
pub fn silence_libtss2(debug: bool) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if debug && std::env::var_os("TSS2_LOG").is_some() {
            return;
        }
        // This runs once, when the first TPM signer is built, while the
        // command loads its identity: before `serve`/`update` start threads.
        crate::ffi::set_env_before_threads("TSS2_LOG", QUIET);
    });
}

//! Firmware for a Cortex-M4F: one `CreateSession` call with the compiled-in
//! test identity against a canned answer, with no heap and no allocator.
//!
//! With the `semihosting` feature it prints the outcome through the debugger
//! (or QEMU) and exits 0 on success, 1 on failure; without it, it parks the
//! core in a loop once done (a debugger can break on `report`).
//! See README.md for running it.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use cortex_m_rt::entry;
    use panic_halt as _;
    use rolesanywhere_embedded_example::{
        Buffers, CANNED_ANSWER, CannedTransport, EXAMPLE_CALL, EXAMPLE_NOW, FixedClock,
        TEST_IDENTITY, create_session,
    };

    #[entry]
    fn main() -> ! {
        // A board reads its RTC here (set by NTP or GNSS at boot).
        let clock = FixedClock(EXAMPLE_NOW);
        // A board opens a TLS session to rolesanywhere.<region>.amazonaws.com:443 here.
        let mut transport = CannedTransport::<4096>::new(CANNED_ANSWER);
        let mut buffers = Buffers::<4096, 4096>::new();
        let outcome = create_session(
            &mut transport,
            &clock,
            &TEST_IDENTITY,
            &EXAMPLE_CALL,
            &mut buffers,
        );
        report(&outcome, transport.sent());
        loop {
            // Park: nothing else to do.
            core::hint::spin_loop();
        }
    }

    #[cfg(feature = "semihosting")]
    fn report<E: core::fmt::Debug>(
        outcome: &Result<
            rolesanywhere_core::session::Credentials,
            rolesanywhere_embedded_example::Error<E>,
        >,
        sent: &[u8],
    ) {
        use cortex_m_semihosting::{debug, hprintln};
        // The request's first line and Authorization header: enough to see
        // that it was signed, nothing secret (the key never leaves).
        let text = core::str::from_utf8(sent).unwrap_or("");
        for line in text
            .split("\r\n")
            .filter(|l| l.starts_with("POST ") || l.starts_with("Authorization: "))
        {
            hprintln!("request: {}", line);
        }
        match outcome {
            Ok(credentials) => {
                // The access key id is not a secret; the secret key and the
                // token are never printed.
                hprintln!(
                    "credentials: AccessKeyId={} Expiration={}",
                    credentials.access_key_id(),
                    core::str::from_utf8(&credentials.expiration().iso8601()).unwrap_or("?")
                );
                debug::exit(debug::EXIT_SUCCESS);
            }
            Err(e) => {
                hprintln!("CreateSession failed: {}", e);
                debug::exit(debug::EXIT_FAILURE);
            }
        }
    }

    #[cfg(not(feature = "semihosting"))]
    fn report<T, E>(outcome: &Result<T, E>, _sent: &[u8]) {
        // Keep the outcome observable for a debugger (and not optimised out).
        let ok = outcome.is_ok();
        core::hint::black_box(ok);
    }
}

// Host builds of the package (for `cargo test` of the library) need a main.
#[cfg(not(target_os = "none"))]
fn main() {}

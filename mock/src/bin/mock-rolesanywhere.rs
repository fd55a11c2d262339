//! `mock-rolesanywhere`: run the mock CreateSession endpoint for demos and black-box tests.
//!
//! Prints exactly one line, `listening <url>`, to stdout once it is ready, then one
//! line per request to stderr. Exits 0 by itself after `--max-requests` answers or
//! `--timeout-secs` seconds (600 by default), so it never outlives its caller for long.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rolesanywhere_mock::{Behaviour, MockConfig, MockServer};

/// What to answer.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum BehaviourArg {
    /// Like the real service: 201 for a verified request, an error otherwise.
    Normal,
    /// 201 with a body that is not JSON (for verified requests).
    Garbage,
    /// Always 403 AccessDeniedException.
    #[value(name = "403")]
    Denied,
    /// Always 429 ThrottlingException.
    Throttle,
    /// Always 500 InternalServerException.
    #[value(name = "500")]
    ServerError,
}

/// A local mock of the IAM Roles Anywhere CreateSession endpoint that verifies every request.
#[derive(Debug, Parser)]
#[command(name = "mock-rolesanywhere", version)]
struct Args {
    /// Fixture folder made by scripts/make-fixtures.sh (uses ca.pem; server.pem and server.key with --tls).
    #[arg(long)]
    fixtures: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Region the signing scope and the ARNs must name.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Serve HTTPS (https://localhost:PORT) with the fixture server certificate.
    #[arg(long)]
    tls: bool,
    /// What to answer.
    #[arg(long, value_enum, default_value_t = BehaviourArg::Normal)]
    behaviour: BehaviourArg,
    /// Exit after answering this many requests.
    #[arg(long)]
    max_requests: Option<usize>,
    /// Exit after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-rolesanywhere: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), rolesanywhere_mock::MockError> {
    let mut config = MockConfig::from_fixture_dir(&args.fixtures)?;
    if args.tls {
        config = config.with_fixture_tls(&args.fixtures)?;
    }
    config.region.clone_from(&args.region);
    config.log_to_stderr = true;
    config.behaviour = match args.behaviour {
        BehaviourArg::Normal => Behaviour::Normal,
        BehaviourArg::Garbage => Behaviour::GarbageJson,
        BehaviourArg::Denied => Behaviour::Status(
            403,
            "AccessDeniedException".to_owned(),
            "Access denied (simulated by the mock)".to_owned(),
        ),
        BehaviourArg::Throttle => Behaviour::Throttle,
        BehaviourArg::ServerError => Behaviour::FailFirst(u32::MAX),
    };
    let server = MockServer::start_on(config, args.port)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening {}", server.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| rolesanywhere_mock::MockError::Io("write to stdout".to_owned(), e))?;
    drop(stdout);

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    loop {
        if args
            .max_requests
            .is_some_and(|max| server.request_count() >= max)
        {
            eprintln!(
                "mock-rolesanywhere: answered {} requests, exiting",
                server.request_count()
            );
            break;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "mock-rolesanywhere: {} s timeout reached, exiting",
                args.timeout_secs
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    Ok(())
}

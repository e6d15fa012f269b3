use clap::Parser;
use vigil_server::cli::{run_check, run_session_command, run_user_command, Cli, Command};
use vigil_server::configuration::Settings;
use vigil_server::site;
use vigil_server::startup::Application;
use vigil_server::telemetry;

/// Every request allocates headers, bodies and futures on both worker threads; mimalloc's
/// thread-local heaps make that cheaper than glibc's arenas (see `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("vigil: configuration error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::User { command } => {
            let mut password = String::new();
            if command.reads_password() {
                if let Err(err) =
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut password)
                {
                    eprintln!("vigil: could not read the password from standard input: {err}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            report(run_user_command(&settings, command, &password).await)
        }
        Command::Session { command } => report(run_session_command(&settings, command).await),
        Command::Check => report(run_check(&settings, site::options()).await),
        Command::Serve => serve(settings).await,
    }
}

/// Prints what a command answered (or why it failed) and exits accordingly.
fn report(outcome: Result<String, impl std::fmt::Display>) -> std::process::ExitCode {
    match outcome {
        Ok(message) => {
            println!("{message}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("vigil: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> std::process::ExitCode {
    let leptos_options = match site::options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("vigil: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    match site::check(&leptos_options) {
        Ok(_) => {}
        // Leptos reads the hashed names on every page and cannot render one without them.
        Err(err @ site::SiteError::Hashes { .. }) => {
            eprintln!("vigil: {err}");
            return std::process::ExitCode::from(2);
        }
        // Served anyway (the API works without it), but the pages would name files that are
        // not there: say so where the operator looks first.
        Err(err) => {
            tracing::error!(error = %err, "the site's files are missing; pages will not load")
        }
    }
    let policy = settings.sessions.policy;
    let app = match Application::build(settings, leptos_options).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("vigil: could not start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = app.local_addr() {
        tracing::info!(
            %addr,
            idle_secs = policy.idle_timeout().whole_seconds(),
            warning_secs = policy.warning_before().whole_seconds(),
            absolute_secs = policy.absolute_timeout().whole_seconds(),
            heartbeat_secs = policy.heartbeat_interval().whole_seconds(),
            "Vigil listening on http://{addr}"
        );
    }
    app.run_until_stopped().await;
    std::process::ExitCode::SUCCESS
}

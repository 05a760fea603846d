use clap::Subcommand;
use glrl_config::Config;

#[derive(Subcommand)]
pub enum Action {
    /// Print the effective configuration (defaults, file, GLRL_* variables and flags applied) as TOML.
    Show,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Show => print!("{}", config.to_toml()),
    }
    Ok(())
}

use clap::Subcommand;
use glrl_config::Config;

#[derive(Subcommand)]
pub enum Action {
    /// Print the effective configuration (defaults, file, GLRL_* variables and flags applied) as TOML.
    Show,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Show => {
            // Never print a secret.
            let mut shown = config.clone();
            if !shown.model.remote.api_key.is_empty() {
                shown.model.remote.api_key = "<set>".into();
            }
            print!("{}", shown.to_toml())
        }
    }
    Ok(())
}

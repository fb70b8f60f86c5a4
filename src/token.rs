//! `oms token`: prints a signed JWT for development and scripts.

use std::io::Write;

use auth::mint::{mint, TokenRequest};
use auth::AuthSettings;

use crate::cli::TokenArgs;

/// Mints the token `args` describe with the key of `OMS_JWT_SECRET` or
/// `OMS_JWT_PRIVATE_KEY_FILE` and writes it, on a line of its own, to `out`.
pub fn print(args: &TokenArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let settings = AuthSettings::from_env()?;
    let request = TokenRequest {
        role: args.role.into(),
        customer: args.customer,
        sub: args.sub.clone(),
        ttl: args.ttl.into(),
    };
    let token = mint(&settings, &request)?;
    writeln!(out, "{token}")?;
    Ok(())
}

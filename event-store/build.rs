//! `sqlx::migrate!` embeds `schemas/migrations` at build time; without this, adding a
//! migration file would not rebuild the crate and the binary would miss it.
fn main() {
    println!("cargo:rerun-if-changed=../schemas/migrations");
}

//! The SDL committed in `schemas/graphql/schema.graphql` is what the code serves.
//! After a deliberate schema change: `OMS_WRITE_SDL=1 cargo test -p query-graphql --test sdl`.

use std::path::PathBuf;

#[test]
fn the_committed_sdl_is_what_the_code_serves() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/graphql/schema.graphql");
    let served = query_graphql::schema::sdl();
    if std::env::var_os("OMS_WRITE_SDL").is_some() {
        std::fs::write(&path, &served).expect("writing the SDL");
    }
    let committed = std::fs::read_to_string(&path).expect("reading schemas/graphql/schema.graphql");
    assert!(
        committed == served,
        "schemas/graphql/schema.graphql differs from the schema the code serves; \
         if the change is deliberate, regenerate it with OMS_WRITE_SDL=1 (see this test)"
    );
}

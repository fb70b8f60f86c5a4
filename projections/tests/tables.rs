//! Every read-model table is declared (row, key, columns and their types) as the
//! migrations create it.

use event_store::testing::TestDatabase;

#[tokio::test]
async fn every_declared_table_is_the_migrated_table() {
    let db = TestDatabase::new().await;
    for table in projections::tables::ALL {
        let mut migrated: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, udt_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(table.name)
        .fetch_all(&db.pool)
        .await
        .expect("columns");
        migrated.sort();
        let mut declared: Vec<(String, String)> = table
            .column_types()
            .into_iter()
            .map(|(name, ty)| (name.to_owned(), ty.to_lowercase()))
            .collect();
        declared.sort();
        assert_eq!(declared, migrated, "{}", table.name);

        let mut key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::regclass AND i.indisprimary",
        )
        .bind(table.name)
        .fetch_all(&db.pool)
        .await
        .expect("primary key");
        key.sort();
        let mut declared_key: Vec<&str> = table.key.to_vec();
        declared_key.sort_unstable();
        assert_eq!(key, declared_key, "{} is keyed as declared", table.name);
    }
}

#[tokio::test]
async fn every_table_of_a_read_model_is_declared() {
    let declared: Vec<&str> = projections::tables::ALL.iter().map(|t| t.name).collect();
    for projection in projections::read_models() {
        for table in projection.tables() {
            assert!(declared.contains(table), "{table} is declared");
        }
    }
}

//! Query limits, checked on the validation's result, before anything is executed; and
//! codes on the errors of parsing and validation.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, SelectionSet};
use async_graphql::{ServerError, ValidationResult};

use crate::errors::{server_error, QUERY_TOO_COMPLEX};
use crate::selections::{fields, Fragments};

/// The deepest selection nesting served, counting every field on the way down.
pub const MAX_DEPTH: usize = 10;

/// The most complexity served: every field costs 1, and a connection costs its fields
/// times its `first`. `orders(first: 100)` with every field of an order and its lines,
/// customer and shipment stays well under it; a connection nested in a connection of 100
/// does not.
pub const MAX_COMPLEXITY: usize = 5_000;

/// The deepest nesting served to an operation that selects only introspection fields
/// (`__schema`, `__type`): GraphiQL's schema query follows `ofType` through wrapped types
/// some fifteen levels down, and it reads no table.
pub const MAX_INTROSPECTION_DEPTH: usize = 24;

/// Refuses a validated query over the depth or complexity limit; `introspection` says the
/// document selects only introspection fields ([`introspection_only`]).
pub fn check(result: &ValidationResult, introspection: bool) -> Result<(), ServerError> {
    let max_depth = if introspection {
        MAX_INTROSPECTION_DEPTH
    } else {
        MAX_DEPTH
    };
    if result.depth > max_depth {
        return Err(server_error(
            QUERY_TOO_COMPLEX,
            format!(
                "the query is nested {} levels deep; at most {max_depth} are served",
                result.depth
            ),
        ));
    }
    if result.complexity > MAX_COMPLEXITY {
        return Err(server_error(
            QUERY_TOO_COMPLEX,
            format!(
                "the query's complexity is {}; at most {MAX_COMPLEXITY} is served",
                result.complexity
            ),
        ));
    }
    Ok(())
}

/// The most root fields (aliases included) one operation may select: each runs statements
/// of its own, whatever its complexity.
pub const MAX_ROOT_FIELDS: usize = 16;

/// The most `totalCount` fields one operation may select: each is a count over its
/// filter, the most expensive read there is.
pub const MAX_COUNTS: usize = 4;

/// Whether every operation of `document` selects only introspection fields at its root.
pub fn introspection_only(document: &ExecutableDocument) -> bool {
    root_sets(document).into_iter().all(|root| {
        let roots = fields(root, &document.fragments);
        !roots.is_empty()
            && roots
                .iter()
                .all(|field| field.node.name.node.starts_with("__"))
    })
}

fn root_sets(document: &ExecutableDocument) -> Vec<&SelectionSet> {
    match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
        DocumentOperations::Multiple(operations) => operations
            .values()
            .map(|operation| &operation.node.selection_set.node)
            .collect(),
    }
}

/// Refuses, right after parsing, an operation whose database work is out of proportion
/// to what complexity measures: many root fields (aliases of one field count each) or
/// many counts.
pub fn check_database_work(document: &ExecutableDocument) -> Result<(), ServerError> {
    for root in root_sets(document) {
        let roots = fields(root, &document.fragments)
            .iter()
            .filter(|field| !field.node.name.node.starts_with("__"))
            .count();
        if roots > MAX_ROOT_FIELDS {
            return Err(server_error(
                QUERY_TOO_COMPLEX,
                format!("the operation selects {roots} root fields; at most {MAX_ROOT_FIELDS} are served"),
            ));
        }
        let counts = counts(root, &document.fragments, 0);
        if counts > MAX_COUNTS {
            return Err(server_error(
                QUERY_TOO_COMPLEX,
                format!(
                    "the operation asks for {counts} totalCount; at most {MAX_COUNTS} are served"
                ),
            ));
        }
    }
    Ok(())
}

/// `totalCount` fields at any depth (down to a bound: deeper is refused by the depth
/// limit anyway, and a cycle of fragments through fields ends there).
fn counts(set: &SelectionSet, fragments: &Fragments, depth: usize) -> usize {
    if depth > 4 * MAX_DEPTH {
        return 0;
    }
    fields(set, fragments)
        .iter()
        .map(|field| {
            usize::from(field.node.name.node == "totalCount")
                + counts(&field.node.selection_set.node, fragments, depth + 1)
        })
        .sum()
}

/// `error` with `code` in its extensions, unless it has a code already.
pub fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(query: &str) -> Result<(), ServerError> {
        check_database_work(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn root_fields_and_counts_are_counted_through_fragments() {
        let roots: String = (0..17)
            .map(|n| format!("p{n}: product(sku: \"S\") {{ sku }} "))
            .collect();
        assert!(work(&format!("{{ {roots} }}")).is_err());
        assert!(work(&format!("{{ ...R }} fragment R on Query {{ {roots} }}")).is_err());
        assert!(work(
            "{ a: orders { totalCount } b: orders { ... on OrderConnection { totalCount } } }"
        )
        .is_ok());
        let counts: String = (0..5).map(|n| format!("c{n}: totalCount ")).collect();
        assert!(work(&format!(
            "{{ orders {{ ...C }} }} fragment C on OrderConnection {{ {counts} }}"
        ))
        .is_err());
    }

    #[test]
    fn a_cycle_of_fragments_ends() {
        // Validation refuses it later; counting must not run forever first.
        let cyclic =
            "{ order(id: \"x\") { ...F } } fragment F on Order { shipment { order { ...F } } }";
        assert!(work(cyclic).is_ok());
    }
}

//! Responses in the order of their selection sets.
//!
//! GraphQL's "Serialized Map Ordering" asks for a response's fields in the order the query
//! selected them. async-graphql 7 resolves sibling fields concurrently and inserts each as
//! it finishes (async-graphql/async-graphql#612), so a slow first field comes last. The
//! answer is put back in order here, from the operation's selection sets (fragments and
//! inline fragments followed, a key repeated keeping its first place).

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, SelectionSet};
use async_graphql::{Name, Value};

use crate::selections::{fields, Fragments};

/// Reorders `data`, the result of operation `operation_name` of `document`, to the order
/// of its selection sets.
pub fn in_selection_order(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    data: &mut Value,
) {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => operation,
            None => return,
        },
        (DocumentOperations::Multiple(_), None) => return,
    };
    reorder(
        &[&operation.node.selection_set.node],
        &document.fragments,
        data,
    );
}

/// Orders `value` (an object, or a list of them) by `sets`, the selection sets that
/// selected it (one per occurrence of its key).
fn reorder(sets: &[&SelectionSet], fragments: &Fragments, value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(sets, fragments, item);
            }
        }
        Value::Object(map) => {
            let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
            for set in sets {
                collect(set, fragments, &mut keys);
            }
            let mut ordered = IndexMap::with_capacity(map.len());
            for (key, subsets) in keys {
                if let Some(mut field) = map.shift_remove(&key) {
                    if !subsets.is_empty() {
                        reorder(&subsets, fragments, &mut field);
                    }
                    ordered.insert(key, field);
                }
            }
            // Anything not found in the selection (nothing, in practice) keeps its place after.
            ordered.extend(map.drain(..));
            *map = ordered;
        }
        _ => {}
    }
}

/// The response keys `set` selects, in order, each with the sub-selections that select
/// into it.
fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
) {
    for field in fields(set, fragments) {
        let key = field.node.response_key().node.clone();
        let subset = &field.node.selection_set.node;
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, subsets)) => subsets.push(subset),
            None => keys.push((key, vec![subset])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_query_through_aliases_fragments_and_lists() {
        let document = async_graphql::parser::parse_query(
            "{ z: a { y x } w: b { ...F } } fragment F on B { q ... on B { p } }",
        )
        .expect("parse");
        let mut data: Value = serde_json::from_str::<serde_json::Value>(
            r#"{"w": [{"p": 1, "q": 2}], "z": {"x": 1, "y": 2}}"#,
        )
        .map(|v| Value::from_json(v).expect("value"))
        .expect("json");
        in_selection_order(&document, None, &mut data);
        assert_eq!(data.to_string(), r#"{z: {y: 2, x: 1}, w: [{q: 2, p: 1}]}"#);
    }
}

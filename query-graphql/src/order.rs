//! Responses in the order of their selection sets.
//!
//! GraphQL's "Serialized Map Ordering" asks for a response's fields in the order the query
//! selected them. async-graphql 7 resolves sibling fields concurrently and inserts each as
//! it finishes (async-graphql/async-graphql#612), so a slow first field comes last. The
//! answer is put back in order here, from the operation's selection sets (fragments and
//! inline fragments followed, a key repeated keeping its first place).

use std::cell::OnceCell;

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
    let fragments = &document.fragments;
    let shape = Shape::of(&[&operation.node.selection_set.node], fragments);
    reorder(&shape, fragments, data);
}

/// The response keys a field's selection sets select, in order, each with the
/// sub-selections that select into it; gathered once per request for each field the
/// answer holds (a list's items share their field's), however many objects it has.
struct Shape<'a> {
    keys: Vec<Key<'a>>,
}

struct Key<'a> {
    name: Name,
    subsets: Vec<&'a SelectionSet>,
    shape: OnceCell<Shape<'a>>,
}

impl<'a> Shape<'a> {
    /// The keys `sets` select (one set per occurrence of the field's key).
    fn of(sets: &[&'a SelectionSet], fragments: &'a Fragments) -> Self {
        let mut keys: Vec<Key<'a>> = Vec::new();
        for set in sets {
            for field in fields(set, fragments) {
                let name = &field.node.response_key().node;
                let subset = &field.node.selection_set.node;
                match keys.iter_mut().find(|k| k.name == *name) {
                    Some(key) => key.subsets.push(subset),
                    None => keys.push(Key {
                        name: name.clone(),
                        subsets: vec![subset],
                        shape: OnceCell::new(),
                    }),
                }
            }
        }
        Self { keys }
    }

    /// Where `name` goes: its place in the selection, or after everything selected.
    fn rank(&self, name: &Name) -> usize {
        self.keys
            .iter()
            .position(|k| k.name == *name)
            .unwrap_or(self.keys.len())
    }
}

/// Orders `value` (an object, or a list of them) by `shape`. An object already in order
/// (most are: only fields that waited finish late) is left as it is.
fn reorder<'a>(shape: &Shape<'a>, fragments: &'a Fragments, value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(shape, fragments, item);
            }
        }
        Value::Object(map) => {
            if !map.keys().map(|k| shape.rank(k)).is_sorted() {
                // Stable: anything not found in the selection (nothing, in practice)
                // keeps its place after.
                map.sort_by_cached_key(|k, _| shape.rank(k));
            }
            for (name, field) in map.iter_mut() {
                let Some(key) = shape.keys.iter().find(|k| k.name == *name) else {
                    continue;
                };
                if key.subsets.iter().all(|set| set.items.is_empty()) {
                    continue;
                }
                let inner = key.shape.get_or_init(|| Shape::of(&key.subsets, fragments));
                reorder(inner, fragments, field);
            }
        }
        _ => {}
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
            r#"{"w": [{"p": 1, "q": 2}, {"q": 3, "p": 4}, {"p": 5, "q": 6}], "z": {"x": 1, "y": 2}}"#,
        )
        .map(|v| Value::from_json(v).expect("value"))
        .expect("json");
        in_selection_order(&document, None, &mut data);
        assert_eq!(
            data.to_string(),
            r#"{z: {y: 2, x: 1}, w: [{q: 2, p: 1}, {q: 3, p: 4}, {q: 6, p: 5}]}"#
        );
    }
}

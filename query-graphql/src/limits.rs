//! Query limits, checked on the validation's result, before anything is executed; and
//! codes on the errors of parsing and validation.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, ValidationResult};

use crate::errors::{server_error, QUERY_TOO_COMPLEX};

/// The deepest selection nesting served, counting every field on the way down.
pub const MAX_DEPTH: usize = 10;

/// The most complexity served: every field costs 1, and a connection costs its fields
/// times its `first`. `orders(first: 100)` with every field of an order and its lines,
/// customer and shipment stays well under it; a connection nested in a connection of 100
/// does not.
pub const MAX_COMPLEXITY: usize = 5_000;

/// Refuses a validated query over the depth or complexity limit.
pub fn check(result: &ValidationResult) -> Result<(), ServerError> {
    if result.depth > MAX_DEPTH {
        return Err(server_error(
            QUERY_TOO_COMPLEX,
            format!(
                "the query is nested {} levels deep; at most {MAX_DEPTH} are served",
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

/// Refuses, right after parsing, an operation whose database work is out of proportion
/// to what complexity measures: many root fields (aliases of one field count each) or
/// many counts.
pub fn check_database_work(document: &ExecutableDocument) -> Result<(), ServerError> {
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node.selection_set.node],
        DocumentOperations::Multiple(operations) => operations
            .values()
            .map(|operation| &operation.node.selection_set.node)
            .collect(),
    };
    for root in operations {
        let mut work = Work::default();
        work.roots(root, &document.fragments, &mut Vec::new());
        work.counts(root, &document.fragments, &mut Vec::new());
        if work.roots > MAX_ROOT_FIELDS {
            return Err(server_error(
                QUERY_TOO_COMPLEX,
                format!(
                    "the operation selects {} root fields; at most {MAX_ROOT_FIELDS} are served",
                    work.roots
                ),
            ));
        }
        if work.counts > MAX_COUNTS {
            return Err(server_error(
                QUERY_TOO_COMPLEX,
                format!(
                    "the operation asks for {} totalCount; at most {MAX_COUNTS} are served",
                    work.counts
                ),
            ));
        }
    }
    Ok(())
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// What one operation selects that costs statements.
#[derive(Debug, Default)]
struct Work {
    roots: usize,
    counts: usize,
}

impl Work {
    /// Root fields, through fragments (`visiting` guards against cycles, which validation
    /// refuses only later).
    fn roots<'a>(
        &mut self,
        set: &'a SelectionSet,
        fragments: &'a Fragments,
        visiting: &mut Vec<&'a str>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if !field.node.name.node.starts_with("__") {
                        self.roots += 1;
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.roots(&inline.node.selection_set.node, fragments, visiting);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) =
                        fragments.get(name).filter(|_| !visiting.contains(&name))
                    {
                        visiting.push(name);
                        self.roots(&fragment.node.selection_set.node, fragments, visiting);
                        visiting.pop();
                    }
                }
            }
        }
    }

    /// `totalCount` fields at any depth, through fragments.
    fn counts<'a>(
        &mut self,
        set: &'a SelectionSet,
        fragments: &'a Fragments,
        visiting: &mut Vec<&'a str>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if field.node.name.node == "totalCount" {
                        self.counts += 1;
                    }
                    self.counts(&field.node.selection_set.node, fragments, visiting);
                }
                Selection::InlineFragment(inline) => {
                    self.counts(&inline.node.selection_set.node, fragments, visiting);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) =
                        fragments.get(name).filter(|_| !visiting.contains(&name))
                    {
                        visiting.push(name);
                        self.counts(&fragment.node.selection_set.node, fragments, visiting);
                        visiting.pop();
                    }
                }
            }
        }
    }
}

/// `error` with `code` in its extensions, unless it has a code already.
pub fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

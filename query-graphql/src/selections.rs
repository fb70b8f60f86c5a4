//! The fields a selection set selects, through its fragments: what the limits count and
//! the order answers follow.

use std::collections::HashMap;

use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned};

/// A document's fragments by name.
pub type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The fields `set` selects, in order, through inline fragments and fragment spreads. A
/// fragment is not followed into itself (validation, which refuses such cycles, may not
/// have run yet).
pub fn fields<'a>(set: &'a SelectionSet, fragments: &'a Fragments) -> Vec<&'a Positioned<Field>> {
    let mut out = Vec::new();
    collect(set, fragments, &mut Vec::new(), &mut out);
    out
}

fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    visiting: &mut Vec<&'a str>,
    out: &mut Vec<&'a Positioned<Field>>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(field),
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, fragments, visiting, out);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if let Some(fragment) = fragments.get(name).filter(|_| !visiting.contains(&name)) {
                    visiting.push(name);
                    collect(&fragment.node.selection_set.node, fragments, visiting, out);
                    visiting.pop();
                }
            }
        }
    }
}

//! Parsed queries by their text. Clients send the same few queries again and again, and
//! parsing is a good part of what a small query costs; a cached document is shared
//! instead. Documents that do not parse are not kept (async-graphql parses them again
//! to report the error).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// How many distinct queries are kept.
pub const CAPACITY: usize = 512;

#[derive(Debug)]
pub struct Documents(Mutex<LruCache<String, Arc<ExecutableDocument>>>);

impl Default for Documents {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(
            NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
        )))
    }
}

impl Documents {
    /// `query` parsed, or `None` when it does not parse.
    pub fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        if let Ok(mut cache) = self.0.lock() {
            if let Some(document) = cache.get(query) {
                return Some(document.clone());
            }
        }
        let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if let Ok(mut cache) = self.0.lock() {
            cache.put(query.to_owned(), document.clone());
        }
        Some(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_documents_are_kept_and_broken_ones_are_not() {
        let documents = Documents::default();
        let query = "query A { orders { totalCount } }";
        let first = documents.parse(query).expect("parses");
        assert_eq!(documents.0.lock().expect("lock").len(), 1);
        let again = documents.parse(query).expect("from the cache");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert!(documents.parse("{ orders {").is_none());
        assert_eq!(documents.0.lock().expect("lock").len(), 1);
    }
}

//! `ProjectionStatus`: where each read model and process manager stands.

use async_graphql::SimpleObject;

#[derive(Debug, Clone, SimpleObject)]
pub struct ProjectionStatus {
    pub name: String,
    pub position: i64,
    pub head_position: i64,
    pub lag: i64,
    pub state: String,
    pub last_error: Option<String>,
}

impl From<projections::status::ProjectionStatus> for ProjectionStatus {
    fn from(s: projections::status::ProjectionStatus) -> Self {
        Self {
            name: s.name,
            position: s.position,
            head_position: s.head_position,
            lag: s.lag,
            state: s.state,
            last_error: s.last_error,
        }
    }
}

//! The OMS GraphQL query service (async-graphql) over the read models. It arrives with
//! issue #7.

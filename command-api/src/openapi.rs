//! `GET /openapi.json`: OpenAPI 3.1 of every command route, generated from the handlers
//! (`#[utoipa::path]`), the request types and the problem table.

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response as ApiResponse, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldProblem, ProblemBody, ProblemType, EVERY_COMMAND, PROBLEMS};
use crate::execute::CommandResponse;
use crate::routes::{self, customers, orders, products, shipments};

#[derive(OpenApi)]
#[openapi(
    info(title = "OMS command API", description = "Commands of the OMS order platform. Errors are application/problem+json."),
    paths(
        customers::register,
        customers::rename,
        customers::change_email,
        customers::add_address,
        products::define,
        products::change_price,
        products::restock,
        orders::place,
        orders::pay,
        orders::cancel,
        shipments::dispatch,
        shipments::deliver,
    ),
    components(schemas(CommandResponse, ProblemBody, FieldProblem)),
    modifiers(&CommandConventions),
)]
pub(crate) struct ApiDoc;

/// The security scheme every command route names.
const BEARER: &str = "bearer";

/// What every command route shares: the bearer token, the command headers, `ETag` on
/// success, and the problems any command can meet; and each route's own problems and
/// roles, from the route table.
struct CommandConventions;

impl Modify for CommandConventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                BEARER,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(
                            "With OMS_AUTH=jwt: a JWT whose roles claim names admin, staff or customer.",
                        ))
                        .build(),
                ),
            );
            if let Some(RefOr::T(problem)) = components.schemas.get_mut("Problem") {
                let catalogue: Vec<String> = PROBLEMS
                    .iter()
                    .map(|p| format!("- `{}` ({}): {}", p.slug, p.status, p.when))
                    .collect();
                if let utoipa::openapi::schema::Schema::Object(object) = problem {
                    object.description = Some(format!(
                        "An RFC 9457 problem. Problem types:\n{}",
                        catalogue.join("\n")
                    ));
                }
            }
        }
        for route in routes::table() {
            let operation = openapi
                .paths
                .paths
                .get_mut(route.path)
                .and_then(|item| item.post.as_mut());
            if let Some(operation) = operation {
                for (problem, here) in &route.problems {
                    add_problem(operation, problem, here);
                }
                operation.security =
                    Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                let roles = route.access.describe();
                operation.description = Some(match operation.description.take() {
                    Some(text) => format!("{text}\n\n{roles}"),
                    None => roles.to_owned(),
                });
                add_conventions(operation);
            }
        }
    }
}

/// Where the id a creating command answers is used next: the operations whose path `{id}`
/// it is. Tools that follow links (schemathesis' stateful phase) chain them.
const LINKS: &[(&str, &[&str])] = &[
    ("/customers", &["rename", "change_email", "add_address"]),
    ("/products", &["change_price", "restock"]),
    ("/orders", &["pay", "cancel"]),
];

/// Adds [`LINKS`] to the document's JSON. (utoipa 5.5 writes a link's `operationId` as
/// `operation_id`, so links are written here rather than with its `LinkBuilder`.)
fn add_links(document: &mut serde_json::Value) {
    for (path, operations) in LINKS {
        let created = &mut document["paths"][*path]["post"]["responses"]["201"];
        if !created.is_object() {
            continue;
        }
        for operation in *operations {
            created["links"][*operation] = serde_json::json!({
                "operationId": operation,
                "parameters": { "id": "$response.body#/id" },
                "description": format!("The id answered here is `{operation}`'s path id."),
            });
        }
    }
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn add_conventions(operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    parameters.push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "1-200 visible ASCII characters. A repeat with the same key and body returns the first response \
                 (with Idempotent-Replayed: true) and appends nothing; kept at least 24 hours.",
            ))
            .schema(Some(
                string_schema()
                    .min_length(Some(1))
                    .max_length(Some(crate::request::MAX_IDEMPOTENCY_KEY))
                    .pattern(Some(r"^[\x21-\x7e]+$")),
            ))
            .build(),
    );
    parameters.push(
        ParameterBuilder::new()
            .name("If-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("\"<version>\": the command applies only if the aggregate has this version, else 412."))
            .schema(Some(string_schema()))
            .build(),
    );
    for (code, response) in operation.responses.responses.iter_mut() {
        if code.starts_with('2') {
            if let RefOr::T(response) = response {
                response.headers.insert(
                    "ETag".into(),
                    HeaderBuilder::new()
                        .schema(string_schema())
                        .description(Some("\"<version>\""))
                        .build(),
                );
                response.headers.insert(
                    "Idempotent-Replayed".into(),
                    HeaderBuilder::new()
                        .schema(string_schema())
                        .description(Some("true on a replayed response"))
                        .build(),
                );
            }
        }
    }
    for problem in EVERY_COMMAND {
        add_problem(operation, problem, problem.when);
    }
}

/// Adds `problem` (meaning `when` on this route) under its status, next to any problem
/// documented there already.
fn add_problem(operation: &mut Operation, problem: &ProblemType, when: &str) {
    let (slug, status) = (problem.slug, problem.status);
    let line = format!("`{slug}`: {when}");
    match operation.responses.responses.get_mut(&status.to_string()) {
        Some(RefOr::T(existing)) if !existing.description.contains(slug) => {
            existing.description = format!("{}; {line}", existing.description);
        }
        Some(_) => {}
        None => {
            let response: ApiResponse = ResponseBuilder::new()
                .description(line)
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build();
            operation
                .responses
                .responses
                .insert(status.to_string(), RefOr::T(response));
        }
    }
}

/// `GET /openapi.json`
pub(crate) async fn document() -> Response {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    add_links(&mut document);
    Json(document).into_response()
}

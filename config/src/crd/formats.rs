//! Integer formats the apiserver knows. schemars names Rust's unsigned types' formats
//! `uint8`, `uint16`, `uint32` and `uint64`, which kube-apiserver does not recognise: it
//! warns about each on every `kubectl apply` of the CRDs. They become `int32` or `int64`,
//! the formats of Kubernetes' own APIs, with the type's range kept as `minimum`/`maximum`
//! where the field sets no narrower one.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

/// The format the apiserver knows for an unsigned one, and the unsigned type's maximum.
fn replacement(format: &str) -> Option<(&'static str, Option<f64>)> {
    match format {
        "uint8" => Some(("int32", Some(f64::from(u8::MAX)))),
        "uint16" => Some(("int32", Some(f64::from(u16::MAX)))),
        "uint32" => Some(("int64", Some(f64::from(u32::MAX)))),
        "uint64" | "uint" => Some(("int64", None)),
        _ => None,
    }
}

/// Rewrites the unsigned formats of `schema` and of every schema nested in it.
pub(super) fn normalize(schema: &mut JSONSchemaProps) {
    if let Some((format, max)) = schema.format.as_deref().and_then(replacement) {
        schema.format = Some(format.to_owned());
        if schema.minimum.is_none() {
            schema.minimum = Some(0.0);
        }
        if schema.maximum.is_none() {
            schema.maximum = max;
        }
    }
    for nested in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        normalize(nested);
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => normalize(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(normalize),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(extra)) = schema.additional_properties.as_mut() {
        normalize(extra);
    }
    for list in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of] {
        list.iter_mut().flatten().for_each(normalize);
    }
    if let Some(not) = schema.not.as_mut() {
        normalize(not);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integer(format: &str) -> JSONSchemaProps {
        JSONSchemaProps {
            type_: Some("integer".to_owned()),
            format: Some(format.to_owned()),
            ..JSONSchemaProps::default()
        }
    }

    #[test]
    fn unsigned_formats_become_the_apiservers_with_their_range() {
        let mut port = integer("uint16");
        port.maximum = Some(16384.0);
        let mut root = JSONSchemaProps {
            properties: Some(
                [
                    ("port".to_owned(), port),
                    ("ttl".to_owned(), integer("uint8")),
                    (
                        "asns".to_owned(),
                        JSONSchemaProps {
                            items: Some(JSONSchemaPropsOrArray::Schema(Box::new(integer(
                                "uint32",
                            )))),
                            ..JSONSchemaProps::default()
                        },
                    ),
                    ("count".to_owned(), integer("int64")),
                ]
                .into(),
            ),
            ..JSONSchemaProps::default()
        };
        normalize(&mut root);
        let props = root.properties.unwrap_or_default();
        let field = |name: &str| props.get(name).cloned().unwrap_or_default();
        let port = field("port");
        assert_eq!(port.format.as_deref(), Some("int32"));
        assert_eq!((port.minimum, port.maximum), (Some(0.0), Some(16384.0)));
        let ttl = field("ttl");
        assert_eq!(ttl.format.as_deref(), Some("int32"));
        assert_eq!(ttl.maximum, Some(255.0));
        let Some(JSONSchemaPropsOrArray::Schema(asn)) = field("asns").items else {
            panic!("items lost");
        };
        assert_eq!(asn.format.as_deref(), Some("int64"));
        assert_eq!(asn.maximum, Some(4294967295.0));
        assert_eq!(field("count").format.as_deref(), Some("int64"));
        assert_eq!(field("count").minimum, None);
    }

    #[test]
    fn no_generated_crd_keeps_an_unsigned_format() {
        for crd in super::super::definitions() {
            let text = serde_json::to_string(&crd).unwrap_or_default();
            assert!(
                !text.contains("\"format\":\"uint"),
                "{}",
                crd.spec.names.kind
            );
        }
    }
}

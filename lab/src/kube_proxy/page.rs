//! The answer on a service address: an HTTP/1.1 response with a small nginx-like welcome
//! page that says which Service it stands for, which node answered and which endpoints
//! kube-proxy would have chosen from — the tutorial's `wget 198.51.100.0` gets a page, and
//! the page shows where the packets went. Pure.

use super::plan::Backend;

/// The page for `backend`, answered by `node`.
pub fn body(backend: &Backend, node: &str) -> String {
    let endpoints: Vec<String> = backend
        .endpoints
        .iter()
        .map(|(pod, on)| format!("{pod} on {on}"))
        .collect();
    let policy = if backend.local {
        "Local: only this node's endpoints"
    } else {
        "Cluster: any endpoint"
    };
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n\
         <h1>Welcome to nginx!</h1>\n\
         <p>Service {service}, answered by {node}.</p>\n\
         <p>Endpoints ({policy}): {list}.</p>\n\
         <p><em>The ferrolb lab plays kube-proxy: in a real cluster this request would have \
         reached one of these pods.</em></p>\n</body>\n</html>\n",
        service = backend.service,
        list = endpoints.join(", "),
    )
}

/// The whole response to a request whose first line is `request_line`.
pub fn response(request_line: &str, backend: &Backend, node: &str) -> Vec<u8> {
    let method = request_line.split_whitespace().next().unwrap_or_default();
    let (status, body) = match method {
        "GET" => ("200 OK", body(backend, node)),
        "HEAD" => ("200 OK", String::new()),
        _ => ("405 Not Allowed", String::new()),
    };
    let length = if method == "HEAD" {
        self::body(backend, node).len()
    } else {
        body.len()
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nServer: nginx (ferrolb lab)\r\nContent-Type: text/html\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> Backend {
        Backend {
            service: "default/nginx".into(),
            endpoints: vec![("nginx-558d677d68-j9x9x".into(), "kube-node-2".into())],
            local: false,
        }
    }

    #[test]
    fn get_answers_the_page_naming_service_node_and_endpoints() {
        let r = String::from_utf8(response("GET / HTTP/1.1", &backend(), "kube-node-1"))
            .unwrap_or_default();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        let (head, body) = r.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains("<title>Welcome to nginx!</title>"));
        assert!(body.contains("Service default/nginx, answered by kube-node-1."));
        assert!(body.contains("nginx-558d677d68-j9x9x on kube-node-2"));
    }

    #[test]
    fn head_has_no_body_and_other_methods_are_refused() {
        let head =
            String::from_utf8(response("HEAD / HTTP/1.1", &backend(), "n")).unwrap_or_default();
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        assert!(
            !head.contains("Content-Length: 0"),
            "HEAD gives the length of the page"
        );
        let post =
            String::from_utf8(response("POST / HTTP/1.1", &backend(), "n")).unwrap_or_default();
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    }
}

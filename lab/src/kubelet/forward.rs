//! The node's kubelet port: every connection to it is passed on to kwok, which answers the
//! kubelet API for all the lab's nodes from kube-master. The apiserver reaches a kubelet at
//! its node's InternalIP, so `kubectl logs` of a pod on kube-node-1 goes to
//! 10.192.0.3:10250, and from there to kwok.

use tokio::net::{TcpListener, TcpStream};

/// Accepts connections on `listener` forever and joins each to a new connection to `target`.
pub async fn serve(listener: TcpListener, target: String) {
    loop {
        let Ok((mut inbound, peer)) = listener.accept().await else {
            continue;
        };
        let target = target.clone();
        tokio::spawn(async move {
            match TcpStream::connect(&target).await {
                Ok(mut outbound) => {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                Err(e) => eprintln!("kubelet: forwarding {peer} to {target}: {e}"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_pass_both_ways() {
        let upstream = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let target = upstream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = upstream.accept().await {
                let mut buf = [0u8; 4];
                if s.read_exact(&mut buf).await.is_ok() {
                    let _ = s.write_all(b"pong").await;
                }
            }
        });
        let front = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = front.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(serve(front, target));
        let mut c = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        c.write_all(b"ping").await.unwrap_or_else(|e| panic!("{e}"));
        let mut got = [0u8; 4];
        c.read_exact(&mut got)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&got, b"pong");
    }
}

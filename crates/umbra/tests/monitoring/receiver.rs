//! A test HTTP receiver on 127.0.0.1: stands in for healthchecks, ntfy and a webhook
//! receiver. It records every request (method, path with query, headers, body) and
//! answers as told: 200, another status, or only after a pause.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_lowercase()).map(String::as_str)
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Ok,
    Status(u16),
    After(Duration),
}

pub struct Receiver {
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
}

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(Answer::Ok));
        let (r, a) = (Arc::clone(&requests), Arc::clone(&answer));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, a) = (Arc::clone(&r), Arc::clone(&a));
                std::thread::spawn(move || serve(stream, &r, &a));
            }
        });
        Self {
            port,
            requests,
            answer,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn answer(&self, a: Answer) {
        *self.answer.lock().expect("answer") = a;
    }

    /// Every request so far, in order of arrival; clears the list.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.requests.lock().expect("requests"))
    }

    /// The requests whose path starts with `prefix`.
    pub fn at(requests: &[Received], prefix: &str) -> Vec<Received> {
        requests
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Received>>, answer: &Mutex<Answer>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    requests.lock().expect("requests").push(Received {
        method,
        path,
        headers,
        body,
    });
    let a = *answer.lock().expect("answer");
    let status = match a {
        Answer::Ok => 200,
        Answer::Status(s) => s,
        Answer::After(pause) => {
            std::thread::sleep(pause);
            200
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
    );
}

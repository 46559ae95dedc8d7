//! Unit tests of `multipart.rs`.
use super::*;

type Chunks = futures_util::stream::Iter<std::vec::IntoIter<Result<Bytes, ()>>>;

/// `body` cut into frames of `size` bytes.
fn form(body: &[u8], size: usize) -> Form<Chunks> {
    let frames: Vec<Result<Bytes, ()>> = body
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Form::new(futures_util::stream::iter(frames), "XyZ")
}

fn sample() -> Vec<u8> {
    let mut b =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntoken-123\r\n".to_vec();
    b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b \\x.pdf\"\r\nContent-Type: application/pdf\r\n\r\n");
    b.extend_from_slice(b"line\r\n--XyNot the end\r\n--X");
    b.extend_from_slice(b"\r\n--XyZ--\r\n");
    b
}

async fn read_all(size: usize) -> (Vec<u8>, Part, Vec<u8>) {
    {
        let mut f = form(&sample(), size);
        let csrf = f.next_part().await.unwrap().unwrap();
        assert_eq!(csrf.name.as_deref(), Some("csrf"));
        let token = f.read_small(128).await.unwrap();
        let file = f.next_part().await.unwrap().unwrap();
        let mut content = Vec::new();
        {
            let mut chunks = std::pin::pin!(f.content());
            while let Some(c) = chunks.next().await {
                content.extend_from_slice(&c.unwrap());
            }
        }
        assert_eq!(f.next_part().await.unwrap(), None);
        (token, file, content)
    }
}

#[tokio::test]
async fn reads_the_form_whatever_the_frame_size() {
    for size in [1, 2, 3, 7, 16, 1000] {
        let (token, file, content) = read_all(size).await;
        assert_eq!(token, b"token-123", "frames of {size}");
        assert_eq!(file.filename.as_deref(), Some("a;b \\x.pdf"));
        assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(
            content, b"line\r\n--XyNot the end\r\n--X",
            "frames of {size}"
        );
    }
}

async fn first_part(body: &[u8]) -> Result<Option<Part>, FormError> {
    form(body, 5).next_part().await
}

#[tokio::test]
async fn refuses_what_breaks_the_format() {
    let long_header = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_HEADERS)
    );
    let preamble = format!("{}\r\n--XyZ\r\n", "p".repeat(MAX_PREAMBLE + 10));
    let cases: [(&[u8], FormError); 8] = [
        (b"", FormError::Malformed),
        (b"no delimiter at all", FormError::Malformed),
        (preamble.as_bytes(), FormError::Malformed),
        (long_header.as_bytes(), FormError::TooLarge),
        (
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"",
            FormError::Malformed,
        ),
        (b"--XyZ\r\n\r\ncontent", FormError::Malformed),
        (
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx",
            FormError::Malformed,
        ),
        (b"--XyZ junk\r\n", FormError::Malformed),
    ];
    for (body, want) in cases {
        let got = first_part(body).await;
        assert_eq!(got, Err(want), "{}", String::from_utf8_lossy(body));
    }
    // A part whose content never ends is an error once the body does.
    let mut f = form(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc",
        2,
    );
    f.next_part().await.unwrap().unwrap();
    assert_eq!(f.read_small(10).await, Err(FormError::Malformed));
    // An empty form closes at once.
    assert_eq!(first_part(b"--XyZ--\r\n").await, Ok(None));
}

#[tokio::test]
async fn a_small_field_stops_at_its_limit() {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n".to_vec();
    body.extend_from_slice(&[b'a'; 10_000]);
    let mut f = form(&body, 64);
    f.next_part().await.unwrap().unwrap();
    assert_eq!(f.read_small(128).await, Err(FormError::TooLarge));
    assert!(
        f.next_part().await.is_err(),
        "nothing is read after an error"
    );
}

#[tokio::test]
async fn content_is_passed_on_holding_back_only_a_delimiter() {
    let mut body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n".to_vec();
    body.extend_from_slice(&[b'a'; 100_000]);
    let mut f = form(&body, 4096);
    f.next_part().await.unwrap().unwrap();
    let mut seen = 0;
    while let Ok(Some(c)) = f.next_chunk().await {
        seen += c.len();
        assert!(f.buf.len() < 4096 + 16, "held {}", f.buf.len());
    }
    assert_eq!(seen, 100_000 - ("\r\n--XyZ".len() - 1));
}

#[test]
fn boundaries_follow_rfc_2046() {
    let ok = [
        (
            "multipart/form-data; boundary=----WebKitFormBoundaryAbC123",
            "----WebKitFormBoundaryAbC123",
        ),
        (
            "Multipart/Form-Data; charset=utf-8; Boundary=\"a b\"",
            "a b",
        ),
    ];
    for (ct, want) in ok {
        assert_eq!(boundary(Some(ct)).as_deref(), Some(want), "{ct}");
    }
    let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
    for ct in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"unclosed",
        "multipart/form-data; boundary=a\rb",
        "multipart/form-data; boundary=\"trailing \"",
        "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded",
        long.as_str(),
    ] {
        assert_eq!(boundary(Some(ct)), None, "{ct}");
    }
    assert_eq!(boundary(None), None);
}

#[test]
fn find_is_exact() {
    assert_eq!(find(b"ab\r\n--X", b"\r\n--X"), Some(2));
    assert_eq!(find(b"\r\r\n--X", b"\r\n--X"), Some(1));
    assert_eq!(find(b"\r\n--", b"\r\n--X"), None);
    assert_eq!(find(b"", b"\r\n"), None);
}

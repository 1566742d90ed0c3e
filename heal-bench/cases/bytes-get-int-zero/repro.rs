use bytes::Buf;

#[test]
fn repro() {
    let mut buf: &[u8] = &[1, 2, 3];
    assert_eq!(buf.get_int(0), 0);
}

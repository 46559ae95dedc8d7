//! Unit tests of `connection.rs`.
use super::*;

#[test]
fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(address_key(a), address_key(b));
    assert_ne!(address_key(a), address_key(c));
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
    assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
}

#[test]
fn the_cap_holds_per_address_and_comes_back_on_close() {
    let map = PerAddress::new(2);
    let one: IpAddr = "192.0.2.1".parse().unwrap();
    let two: IpAddr = "192.0.2.2".parse().unwrap();
    let a = map.try_hold(one).unwrap();
    let b = map.try_hold(one).unwrap();
    assert!(map.try_hold(one).is_none());
    let c = map.try_hold(two).unwrap();
    drop(a);
    assert_eq!(map.count(one), 1);
    let d = map.try_hold(one).unwrap();
    drop((b, c, d));
    assert_eq!(map.count(one), 0);
    assert!(map.lock().is_empty(), "no entry outlives its connections");
}

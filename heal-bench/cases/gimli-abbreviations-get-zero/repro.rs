use gimli::{DebugAbbrev, DebugAbbrevOffset, LittleEndian};

#[test]
fn repro() {
    // 0.22.0: abbreviation code 0 is never defined: get(0) is None.
    let debug_abbrev = DebugAbbrev::new(&[0u8], LittleEndian);
    let abbrevs = debug_abbrev.abbreviations(DebugAbbrevOffset(0)).unwrap();
    assert!(abbrevs.get(0).is_none());
}

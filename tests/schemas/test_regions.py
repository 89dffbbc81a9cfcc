from schemas import regions


def test_552_regions_38_provinces():
    all_ = regions.all_regions()
    assert len(all_) == 552
    assert len(regions.provinces()) == 38
    assert sum(r.level == 2 for r in all_) == 514
    assert len({r.code for r in all_}) == 552


def test_region_lookup():
    assert regions.region("32.01") == regions.Region("32.01", "Kabupaten Bogor", 2, "32", "Jawa Barat")
    assert regions.region("32") == regions.Region("32", "Jawa Barat", 1, "32", "Jawa Barat")
    assert regions.region("3201") is None  # only the dotted form is a code
    assert regions.region("32.01.01") is None  # a kecamatan is not a regional government
    assert regions.region("99") is None
    assert regions.normalize("3201") == "32.01"


def test_papua_codes_moved_in_2022_are_not_current():
    assert not regions.is_current_region("91.04")  # Nabire moved to Papua Tengah (94.01)
    assert regions.is_current_region("94.01")
    assert regions.region("94.01").province_name == "Papua Tengah"


def test_districts():
    assert regions.is_current_district("32.01.01")
    assert not regions.is_current_district("32.01")
    assert not regions.is_current_district("320101")

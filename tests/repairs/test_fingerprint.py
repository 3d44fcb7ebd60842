from repairs.evidence import fingerprint, normalise_message


def test_ids_numbers_and_uuids_do_not_change_the_fingerprint():
    first = fingerprint(
        "context_fetch_failed",
        "GET /jobs/1234/context failed: 503 (request 3f2a9c1e, trace "
        "123e4567-e89b-12d3-a456-426614174000, addr 0x7ffe12)",
    )
    second = fingerprint(
        "context_fetch_failed",
        "GET /jobs/98/context failed: 503 (request 0b11d00d, trace "
        "a0b1c2d3-0000-4000-8000-00000000beef, addr 0xdeadbeef)",
    )

    assert first == second


def test_case_and_spacing_do_not_change_the_fingerprint():
    assert fingerprint("lease_expired", "Lease  EXPIRED\n for job 1") == fingerprint(
        "lease_expired", "lease expired for job 2"
    )


def test_another_error_class_is_another_fingerprint():
    assert fingerprint("lease_expired", "boom") != fingerprint("context_fetch_failed", "boom")


def test_another_message_shape_is_another_fingerprint():
    assert fingerprint("x", "connection refused") != fingerprint("x", "connection reset")


def test_the_fingerprint_is_stable_across_releases():
    # Stored fingerprints group events across deploys; a change here splits every group.
    assert fingerprint("context_fetch_failed", "fetch of job 1 failed") == (
        "b010d8eb3fabe8186c02a30a5056b00ebc4acc64c176423dce1ed52100c04017"
    )


def test_plain_words_made_of_hex_letters_are_kept():
    assert normalise_message("deadline exceeded; cafe facade") == "deadline exceeded; cafe facade"

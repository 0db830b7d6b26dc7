"""Rewriting a decision bundle the way an attacker would: change one part, and (or not) fix the manifest's hashes."""

import hashlib
import io
import json
import zipfile

MANIFEST = "manifest.json"


def parts_of(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def manifest_of(bundle: bytes) -> dict:
    return json.loads(parts_of(bundle)[MANIFEST])


def zip_of(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def rebuilt(bundle: bytes, *, replace=None, edit_manifest=None, fix_hashes=True) -> bytes:
    """The bundle with files replaced and the manifest edited; with fix_hashes the manifest lists the new hashes."""
    parts = parts_of(bundle)
    parts.update(replace or {})
    manifest = json.loads(parts[MANIFEST])
    if edit_manifest:
        edit_manifest(manifest)
    if fix_hashes:
        manifest["files"] = {name: hashlib.sha256(parts[name]).hexdigest() for name in manifest["files"]}
    parts[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    return zip_of(list(parts.items()))

-- Signed review decisions: an SSHSIG signature (PEM, namespace rmos-review@v1) over the
-- record's canonical bytes, and the signing key's SHA-256 fingerprint. Both are NULL for
-- unsigned, imported and earlier records. Neither is part of the record hash, so chains
-- written before this migration stay valid; the signature is bound to the record through
-- the bytes it signs. Set only when a record is inserted (the table stays append-only).

ALTER TABLE review_decisions ADD COLUMN signature TEXT;
ALTER TABLE review_decisions ADD COLUMN signer TEXT;

-- One data key per data subject (a survivor, or an operation for the people named in its report),
-- stored only wrapped by a key-encryption key kept outside the database. Destroying the wrapped
-- key erases that subject's personal data everywhere: the events keep their ciphertext (and so
-- their hashes), which nobody can open any more.
CREATE TABLE personal_data_keys (
    subject_id uuid PRIMARY KEY,
    kek_id text,
    wrapped_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    CHECK ((erased_at IS NULL) = (wrapped_key IS NOT NULL))
);

-- A destroyed key never comes back: once erased, a row may not change again.
CREATE FUNCTION personal_data_keys_stay_erased() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.erased_at IS NOT NULL THEN
        RAISE EXCEPTION 'the data key of % was destroyed and cannot be restored', OLD.subject_id
            USING ERRCODE = 'HW004';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER personal_data_keys_erased BEFORE UPDATE ON personal_data_keys
    FOR EACH ROW EXECUTE FUNCTION personal_data_keys_stay_erased();

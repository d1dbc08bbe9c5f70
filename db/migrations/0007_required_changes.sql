-- A condition between the statements of one batch (db/client.ts `required`): a batch is one
-- transaction, so raising here undoes every statement before it in that round trip, as an
-- interactive transaction's rollback did. SQLSTATE GH001 names "a required change did not
-- happen"; the Worker maps it to the flow's own answer (a spent code, a lost race).
CREATE FUNCTION gatehouse_require(ok boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'a required change did not happen' USING ERRCODE = 'GH001';
  END IF;
  RETURN true;
END
$$;

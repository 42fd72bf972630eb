-- Cosine distance on real[] (0 = same direction, 2 = opposite; NULL for a zero or mismatched
-- vector): the k-NN of the `none` dialect, and usable on the real[] vectors the sources hold.
CREATE FUNCTION aqe.real_cosine_distance(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT CASE WHEN cardinality(a) <> cardinality(b) OR sum(x * x) = 0 OR sum(y * y) = 0 THEN NULL
              ELSE 1 - sum(x * y) / (sqrt(sum(x * x)) * sqrt(sum(y * y))) END
  FROM unnest(a::double precision[], b::double precision[]) AS t(x, y)
$$;

-- No vector extension: no ANN index; k-NN is an exact scan (correct, bounded by table size).
SELECT 1;

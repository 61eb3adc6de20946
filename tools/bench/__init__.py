"""`taonet bench AREA`: each module measures one area and returns a flat dict of figures (median of runs)."""

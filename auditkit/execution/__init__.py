"""Running an audit's work units: where their results are kept, the baseline's cache, and who runs them.

``driver.run_units`` plans every selected check's units, skips what a resumed run already
finished and what the baseline cache holds, hands the rest to an executor (this process, or
Ray workers on this machine or a cluster) and assembles each check's result from the units'
outcomes, read back from the staging folder in plan order, so the evidence does not depend
on who ran the units or in what order.
"""

"""Labs: the Lab model, loading labs/ into the database, rendering instructions."""

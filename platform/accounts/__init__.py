"""Users and sign-in. Roles beyond learner/staff arrive with cohorts."""

"""Standings follow the assignments and the memberships they depend on, however those
change (the cohort pages, the admin, a shell): a changed due date or late policy
recounts the assignment, and a learner who joins is counted on every assignment."""

from django.db.models.signals import post_delete, post_save

from cohorts.models import Assignment, Membership, Standing


def assignment_saved(sender, instance: Assignment, **kwargs) -> None:
    Standing.objects.refresh([instance])


def membership_saved(sender, instance: Membership, **kwargs) -> None:
    if instance.role == Membership.Role.LEARNER:
        Standing.objects.refresh(instance.cohort.assignments.all(), user_ids=[instance.user_id])
    else:
        membership_deleted(sender, instance)


def membership_deleted(sender, instance: Membership, **kwargs) -> None:
    Standing.objects.filter(
        assignment__cohort_id=instance.cohort_id, user_id=instance.user_id
    ).delete()


def connect() -> None:
    post_save.connect(assignment_saved, sender=Assignment, dispatch_uid="standing-assignment")
    post_save.connect(membership_saved, sender=Membership, dispatch_uid="standing-membership")
    post_delete.connect(
        membership_deleted, sender=Membership, dispatch_uid="standing-membership-gone"
    )

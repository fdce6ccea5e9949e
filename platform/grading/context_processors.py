"""Tell staff on every page when submissions are waiting on broken grading infrastructure."""

from grading.models import Submission


def infra_alert(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return {}
    waiting = Submission.objects.awaiting_infrastructure()
    count = waiting.count()
    if not count:
        return {}
    last = waiting.order_by("-created_at").values_list("last_infra_error", flat=True).first()
    return {
        "infra_alert": f"{count} submission(s) are waiting because grading infrastructure "
        f"failed. Last error: {last}"
    }

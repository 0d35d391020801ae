"""The JSON endpoints behind the product form's live suggestions (static/seller_accounts/suggest.js).

Every answer is JSON, refusals included: a signed-out caller gets 401, not a
login redirect a script could not follow. CSRF stays enforced by the
middleware; the script sends the form's token. Nothing here writes.
"""
import json
from functools import wraps

from django.core.exceptions import ValidationError
from django.http import JsonResponse

from main.images import ANALYSIS_SIDE, decode_upload
from seller_accounts.forms import CategorizeForm
from shop_ml import facade

# A name is at most 300 characters, so anything much larger is not a real request; the
# limit keeps us from parsing megabytes of JSON only to refuse them.
MAX_BODY_BYTES = 32 * 1024
PHOTO_GUESSES = 3
MAX_NAME_CHARS = CategorizeForm.base_fields["name"].max_length


def _error(message, status=400):
    return JsonResponse({"error": message}, status=status)


def json_endpoint(view):
    """POST from a signed-in user, with every refusal answered as JSON."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            response = _error("Use POST.", status=405)
            response["Allow"] = "POST"
            return response
        if not request.user.is_authenticated:
            return _error("Sign in to get suggestions.", status=401)
        return view(request, *args, **kwargs)
    return wrapper


def _served_version(model):
    """The version of `model` being served ("" if none), so saved outcomes name it."""
    status = facade.artifact_status().get(f"categorizer-{model}", {})
    return status.get("version") or ""


def _json_fields(request):
    """The name and model of a JSON body; ValidationError says what is wrong with it."""
    try:
        data = json.loads(request.body)
    except ValueError:  # also UnicodeDecodeError
        raise ValidationError("The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ValidationError("Send a JSON object such as {\"name\": \"Blue denim jeans\"}.")
    for key in ("name", "model"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValidationError(f"“{key}” must be a string.")
    return {key: data[key] for key in ("name", "model") if data.get(key) is not None}


@json_endpoint
def categorize(request):
    """{"name": ..., "model": "default"|"cascade"} (JSON or form-encoded) →
    {"suggestions": the facade's dict, "model": ..., "version": ..., "available": bool}.
    With no trained model the answer is still 200, available false and no suggestions,
    so the form works without them."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return _error(f"The request is larger than {MAX_BODY_BYTES // 1024} KB.", status=413)
    if request.content_type == "application/json":
        try:
            data = _json_fields(request)
        except ValidationError as exc:
            return _error(" ".join(exc.messages))
    else:
        data = request.POST
    form = CategorizeForm(data)
    if not form.is_valid():
        return _error(" ".join(message for errors in form.errors.values() for message in errors))
    name, model = form.cleaned_data["name"], form.cleaned_data["model"]
    results = facade.categorize([name], model=model)
    suggestions = results[0] if results else {}
    return JsonResponse({
        "suggestions": suggestions, "model": model,
        "version": _served_version(model) if suggestions else "", "available": bool(suggestions),
    })


@json_endpoint
def categorize_photo(request):
    """Multipart `photo`, and the listing's `name` if it has one →
    {"suggestions": one suggestion from name and photo together ({} without the fused
    model), "model": "fused", "version", "disagreements": [{field, name, photo,
    message}] where both are sure and differ, "article_types": the photo's own top 3
    [{"articleType", "probability"}], "available": bool (article types were found)}.
    The photo passes the upload gate and is only read, never stored."""
    upload = request.FILES.get("photo")
    if upload is None:
        return _error("Choose a photo (the “photo” field of a multipart form).")
    name = request.POST.get("name", "").strip()
    if len(name) > MAX_NAME_CHARS:
        return _error(f"The name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}.")
    try:
        image = decode_upload(upload, side=ANALYSIS_SIDE)
    except ValidationError as exc:
        return _error(" ".join(exc.messages))
    try:
        fused = _fused_suggestion(name, image)
        if fused is None:
            guesses = [{"articleType": label, "probability": prob} for label, prob in
                       facade.predict_article_type_from_image(image, top=PHOTO_GUESSES)]
        else:
            guesses = fused["photo"]["candidates"]
    except facade.ModelBusy:
        return _error("The photo model is busy; try again in a few seconds.", status=503)
    return JsonResponse({
        "suggestions": _public(fused) if fused else {},
        "model": "fused" if fused else "", "version": _served_version("fused") if fused else "",
        "disagreements": fused["disagreements"] if fused else [],
        "article_types": guesses, "available": bool(guesses),
    })


def _fused_suggestion(name, image):
    """The fused answer for (name, image), or None when only the name could answer."""
    results = facade.categorize_listings([(name, image)])
    if not results or results[0].get("source") == "name":
        return None
    return results[0]


def _public(result):
    """The suggestion fields the form shows (those of /api/categorize)."""
    return {key: result[key] for key in ("name", "gender", "masterCategory", "subCategory",
                                         "articleType", "baseColour", "season", "usage",
                                         "confidence", "candidates")}

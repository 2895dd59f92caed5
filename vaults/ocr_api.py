"""GET /vault/:id/objects/:objectId/ocr-words (casedev `vault.objects.get_ocr_words`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.openapi import DATETIME, INTEGER, NUMBER, STRING, array, nullable, obj
from agentexec.tenancy.auth import caller
from vaults import ocr, selectors

OCR_WORDS = obj(
    {
        "objectId": STRING,
        "pageCount": nullable(INTEGER),
        "totalWords": INTEGER,
        "createdAt": nullable(DATETIME),
        "pages": array(
            obj(
                {
                    "page": INTEGER,
                    "words": array(
                        obj(
                            {
                                "text": STRING,
                                "bbox": array(NUMBER),
                                "confidence": NUMBER,
                                "wordIndex": INTEGER,
                            }
                        )
                    ),
                }
            )
        ),
    }
)


class OcrWordsInputSerializer(serializers.Serializer):
    page = serializers.IntegerField(required=False, min_value=1)
    wordStart = serializers.IntegerField(required=False, min_value=0)
    wordEnd = serializers.IntegerField(required=False, min_value=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("wordStart"), attrs.get("wordEnd")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"wordEnd": ["must not be before wordStart"]})
        return attrs


def ocr_words_output(found: ocr.OcrWords) -> dict[str, Any]:
    return {
        "objectId": found.obj.id,
        "pageCount": found.obj.page_count,
        "totalWords": found.total_words,
        "createdAt": found.created_at,
        "pages": [{"page": number, "words": words} for number, words in found.pages],
    }


class OcrWordsApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="An object's OCR words with bounding boxes and confidence",
        parameters=[OcrWordsInputSerializer],
        responses={200: OCR_WORDS},
    )
    def get(self, request: Request, vault_id: str, object_id: str) -> Response:
        obj = selectors.object_get(
            organization=caller(request).organization, vault_id=vault_id, object_id=object_id
        )
        params = OcrWordsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = ocr.ocr_words(
            obj=obj,
            page=params.validated_data.get("page"),
            word_start=params.validated_data.get("wordStart"),
            word_end=params.validated_data.get("wordEnd"),
        )
        return Response(ocr_words_output(found))

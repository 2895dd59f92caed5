"""/vault/:id/events/subscriptions (casedev `vault.events.subscriptions`): create, list, update,
delete, test. Views validate, call one service, answer an output."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentexec.errors import ApplicationError
from agentexec.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    DATETIME,
    INTEGER,
    STRING,
    STRINGS,
    array,
    nullable,
    obj,
)
from agentexec.tenancy.auth import caller
from agentexec.webhooks import CallbackUrlError, check_callback_url
from vaults import selectors, subscriptions
from vaults.models import EventDelivery, EventSubscription, Vault

SUBSCRIPTION = obj(
    {
        "id": STRING,
        "vaultId": STRING,
        "callbackUrl": STRING,
        "eventTypes": STRINGS,
        "objectIds": STRINGS,
        "isActive": BOOLEAN,
        "hasSigningSecret": BOOLEAN,
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
    }
)
SUBSCRIPTION_ONE = obj({"subscription": SUBSCRIPTION})
SUBSCRIPTION_LIST = obj({"subscriptions": array(SUBSCRIPTION), "total": INTEGER})
SUBSCRIPTION_DELETED = obj({"success": BOOLEAN, "id": STRING})
TEST_DELIVERY = obj(
    {
        "success": BOOLEAN,
        "subscriptionId": STRING,
        "webhookId": STRING,
        "eventType": STRING,
        "status": STRING,
        "attempts": INTEGER,
        "lastStatus": nullable(INTEGER),
        "payload": ANY_OBJECT,
    }
)


def _callback_url(value: str) -> str:
    try:
        return check_callback_url(value)
    except CallbackUrlError as exc:
        raise serializers.ValidationError(str(exc)) from exc


def _signing_secret(value: str) -> str:
    try:
        return subscriptions.check_signing_secret(value)
    except ApplicationError as exc:
        raise serializers.ValidationError(exc.message) from exc


def _object_ids(vault: Vault, value: list[str]) -> list[str]:
    unknown = subscriptions.unknown_object_ids(vault=vault, object_ids=value)
    if unknown:
        raise serializers.ValidationError(f"not objects of this vault: {', '.join(unknown)}")
    return value


def _event_types() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=subscriptions.EVENT_TYPES),
        required=False,
        min_length=1,
    )


def _ids() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=1000
    )


class SubscriptionCreateInputSerializer(serializers.Serializer):
    callbackUrl = serializers.CharField(max_length=2000)
    eventTypes = _event_types()
    objectIds = _ids()
    signingSecret = serializers.CharField(required=False, max_length=200)

    def validate_callbackUrl(self, value: str) -> str:
        return _callback_url(value)

    def validate_signingSecret(self, value: str) -> str:
        return _signing_secret(value)

    def validate_objectIds(self, value: list[str]) -> list[str]:
        return _object_ids(self.context["vault"], value)


class SubscriptionUpdateInputSerializer(serializers.Serializer):
    callbackUrl = serializers.CharField(required=False, max_length=2000)
    eventTypes = _event_types()
    objectIds = _ids()
    isActive = serializers.BooleanField(required=False)
    signingSecret = serializers.CharField(required=False, max_length=200)
    clearSigningSecret = serializers.BooleanField(required=False)

    validate_callbackUrl = SubscriptionCreateInputSerializer.validate_callbackUrl
    validate_signingSecret = SubscriptionCreateInputSerializer.validate_signingSecret
    validate_objectIds = SubscriptionCreateInputSerializer.validate_objectIds

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("clearSigningSecret") and attrs.get("signingSecret"):
            raise serializers.ValidationError(
                {"clearSigningSecret": ["give signingSecret or clearSigningSecret, not both"]}
            )
        return attrs

    def to_changes(self) -> dict[str, Any]:
        names = {
            "callbackUrl": "callback_url",
            "eventTypes": "event_types",
            "objectIds": "object_ids",
            "isActive": "is_active",
            "signingSecret": "signing_secret",
            "clearSigningSecret": "clear_signing_secret",
        }
        return {names[key]: value for key, value in self.validated_data.items()}


class SubscriptionTestInputSerializer(serializers.Serializer):
    eventType = serializers.CharField(required=False, max_length=64)
    objectId = serializers.CharField(required=False, max_length=64)
    payload = serializers.DictField(required=False)

    def validate_objectId(self, value: str) -> str:
        return _object_ids(self.context["vault"], [value])[0]


def subscription_output(subscription: EventSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "vaultId": subscription.vault_id,
        "callbackUrl": subscription.callback_url,
        "eventTypes": subscription.event_types,
        "objectIds": subscription.object_ids,
        "isActive": subscription.is_active,
        "hasSigningSecret": bool(subscription.signing_secret),
        "createdAt": subscription.created_at,
        "updatedAt": subscription.updated_at,
    }


def delivery_output(delivery: EventDelivery) -> dict[str, Any]:
    return {
        "success": delivery.state != "failed",
        "subscriptionId": delivery.subscription_id,
        "webhookId": delivery.webhook_id,
        "eventType": delivery.event_type,
        "status": delivery.state,
        "attempts": delivery.attempts,
        "lastStatus": delivery.last_status,
        "payload": delivery.payload,
    }


def _vault(request: Request, vault_id: str) -> Vault:
    return selectors.vault_get(organization=caller(request).organization, vault_id=vault_id)


def _subscription(request: Request, vault_id: str, subscription_id: str) -> EventSubscription:
    vault = _vault(request, vault_id)
    return subscriptions.subscription_get(vault=vault, subscription_id=subscription_id)


class SubscriptionListApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Create a vault event subscription",
        request=SubscriptionCreateInputSerializer,
        responses={201: SUBSCRIPTION_ONE},
    )
    def post(self, request: Request, vault_id: str) -> Response:
        vault = _vault(request, vault_id)
        serializer = SubscriptionCreateInputSerializer(data=request.data, context={"vault": vault})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = subscriptions.subscription_create(
            vault=vault,
            callback_url=data["callbackUrl"],
            event_types=data.get("eventTypes"),
            object_ids=data.get("objectIds"),
            signing_secret=data.get("signingSecret"),
        )
        body = {"subscription": subscription_output(subscription)}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["vault"],
        summary="List a vault's event subscriptions",
        operation_id="vault_events_subscriptions_list",
        responses={200: SUBSCRIPTION_LIST},
    )
    def get(self, request: Request, vault_id: str) -> Response:
        found = subscriptions.subscription_list(vault=_vault(request, vault_id))
        listed = [subscription_output(s) for s in found]
        return Response({"subscriptions": listed, "total": len(listed)})


class SubscriptionDetailApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Update a vault event subscription",
        request=SubscriptionUpdateInputSerializer,
        responses={200: SUBSCRIPTION_ONE},
    )
    def patch(self, request: Request, vault_id: str, subscription_id: str) -> Response:
        subscription = _subscription(request, vault_id, subscription_id)
        serializer = SubscriptionUpdateInputSerializer(
            data=request.data, context={"vault": subscription.vault}
        )
        serializer.is_valid(raise_exception=True)
        subscription = subscriptions.subscription_update(
            subscription=subscription, changes=serializer.to_changes()
        )
        return Response({"subscription": subscription_output(subscription)})

    @extend_schema(
        tags=["vault"],
        summary="Delete a vault event subscription",
        responses={200: SUBSCRIPTION_DELETED},
    )
    def delete(self, request: Request, vault_id: str, subscription_id: str) -> Response:
        subscription = _subscription(request, vault_id, subscription_id)
        subscriptions.subscription_delete(subscription=subscription)
        return Response({"success": True, "id": subscription_id})


class SubscriptionTestApi(APIView):
    @extend_schema(
        tags=["vault"],
        summary="Send a signed test event to a vault event subscription",
        request=SubscriptionTestInputSerializer,
        responses={200: TEST_DELIVERY},
    )
    def post(self, request: Request, vault_id: str, subscription_id: str) -> Response:
        subscription = _subscription(request, vault_id, subscription_id)
        serializer = SubscriptionTestInputSerializer(
            data=request.data, context={"vault": subscription.vault}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        delivery = subscriptions.subscription_test(
            subscription=subscription,
            event_type=data.get("eventType"),
            object_id=data.get("objectId"),
            payload=data.get("payload"),
        )
        return Response(delivery_output(delivery))

from django.contrib import admin

from vaults.models import Chunk, Vault, VaultObject


@admin.register(Vault)
class VaultAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "organization", "total_objects", "total_bytes", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "id", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "total_objects", "total_bytes", "total_chunks", "created_at",
                       "updated_at"]  # fmt: skip


@admin.register(VaultObject)
class VaultObjectAdmin(admin.ModelAdmin):
    list_display = ["filename", "id", "vault", "status", "size_bytes", "chunk_count", "created_at"]
    list_filter = ["status", "content_type"]
    search_fields = ["filename", "id", "vault__name", "vault__id"]
    list_select_related = ["vault"]
    readonly_fields = [
        "id", "vault", "file", "sha256", "size_bytes", "declared_size_bytes", "uploaded_at",
        "status", "error", "workflow_id", "page_count", "text_length", "chunk_count",
        "ingestion_started_at", "ingestion_completed_at", "created_at", "updated_at",
    ]  # fmt: skip


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "object", "index", "page_start", "page_end"]
    search_fields = ["object__id", "object__filename"]
    list_select_related = ["object"]
    readonly_fields = ["object", "vault", "index", "text", "page_start", "page_end"]

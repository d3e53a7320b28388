from django.apps import AppConfig


class CampaignsUsersConfig(AppConfig):
    name = "campaigns_users"

import factory

from agentexec.tenancy.models import Organization
from runs.models import Agent, Run


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"org-{n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"agent-{n}")
    instructions = "You are a careful legal assistant."
    model = "local/echo"


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    organization = factory.SelfAttribute("agent.organization")
    agent = factory.SubFactory(AgentFactory)
    prompt = "Summarise the agreement."
    model = "local/echo"

using System.Text.Json;
using System.Text.Json.Nodes;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Analysis;

/// <summary>What an answer may say and still be accepted: everything our own schema allows, repaired where needed.</summary>
public sealed class TierAnswersTests
{
    [Fact]
    public void Schema_Tier1_OffersExactlyTheValidPairs()
    {
        var pairs = Prompts.Schema(Tier.Classification)["properties"]![Prompts.ViewKey]!["enum"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();

        Assert.Equal(Taxonomy.Categories.Sum(c => c.Angles.Count) + 1, pairs.Count);
        Assert.All(pairs, p => Assert.True(Taxonomy.IsValid(p.Split('.')[0], p.Split('.')[1]), p));
        Assert.DoesNotContain("document.door_panel", pairs);
    }

    [Theory]
    [InlineData(Tier.Classification)]
    [InlineData(Tier.Components)]
    [InlineData(Tier.Expert)]
    public void Parse_EveryAnswerThatObeysTheSchema_IsAcceptedWithinRanges(Tier tier)
    {
        using var schema = JsonDocument.Parse(Prompts.Schema(tier).ToJsonString());
        var random = new Random((int)tier);
        for (var i = 0; i < 2000; i++)
        {
            var content = new SchemaAnswers(random, honourRanges: i % 2 == 0).Generate(schema.RootElement)!.ToJsonString();

            var answer = TierAnswers.Parse(tier, content);

            switch (tier)
            {
                case Tier.Classification:
                    Assert.True(Taxonomy.IsValid((string)answer["category"]!, (string)answer["angle"]!), content);
                    Assert.InRange((int)answer["quality_score"]!, 1, 10);
                    Assert.InRange((double)answer["confidence"]!, 0, 1);
                    Assert.False(answer.ContainsKey(Prompts.ViewKey));
                    break;
                case Tier.Components:
                    foreach (var c in TierAnswers.Components(answer))
                        Assert.All(new[] { c.Confidence, c.X, c.Y, c.Width, c.Height }, n => Assert.InRange(n ?? 0, 0, 1));
                    break;
                case Tier.Expert:
                    Assert.InRange((int)answer["condition_rating"]!, 1, 10);
                    break;
            }
        }
    }

    [Fact]
    public void Parse_AngleOfAnotherCategory_KeepsTheCategoryAndMarksTheAngleUnknown()
    {
        var answer = TierAnswers.Parse(Tier.Classification, """
            {"category": "document", "angle": "door_panel", "quality_score": 7, "suitable_for_expert": true, "confidence": 0.9}
            """);

        Assert.Equal(("document", "unknown"), ((string)answer["category"]!, (string)answer["angle"]!));
        Assert.Contains("door_panel", (string)answer[TierAnswers.RepairsKey]![0]!);
    }

    [Fact]
    public void Parse_ViewPair_IsSplitIntoCategoryAndAngle()
    {
        var answer = TierAnswers.Parse(Tier.Classification, """
            {"view": "engine_bay.left", "quality_score": 5, "suitable_for_expert": false, "confidence": 0.4, "lighting": "normal"}
            """);

        Assert.Equal(("engine_bay", "left"), ((string)answer["category"]!, (string)answer["angle"]!));
        Assert.False(answer.ContainsKey(TierAnswers.RepairsKey));
        Assert.Equal("normal", (string)answer["lighting"]!);
    }

    [Fact]
    public void Parse_NumbersOutOfRange_AreClampedAndNamed()
    {
        var answer = TierAnswers.Parse(Tier.Classification, """
            {"view": "exterior.front", "quality_score": 42, "suitable_for_expert": "yes", "confidence": -3}
            """);

        Assert.Equal(10, (int)answer["quality_score"]!);
        Assert.Equal(0.0, (double)answer["confidence"]!);
        Assert.False((bool)answer["suitable_for_expert"]!);
        Assert.Equal(3, answer[TierAnswers.RepairsKey]!.AsArray().Count);
    }

    [Fact]
    public void Parse_Components_DropsNamelessAndRepairsConditionAndBox()
    {
        var answer = TierAnswers.Parse(Tier.Components, """
            {"components": [
              {"name": "", "area": "", "condition": "good", "confidence": 0.5, "bbox": null},
              {"name": "wing", "area": "left", "condition": "shiny", "confidence": 7, "bbox": {"x": -1, "y": 0.2, "width": 3, "height": 0.1}}
            ]}
            """);

        var wing = Assert.Single(TierAnswers.Components(answer));
        Assert.Equal(("wing", "unknown", 1.0), (wing.Name, wing.Condition, wing.Confidence));
        Assert.Equal((0.0, 0.2, 1.0, 0.1), (wing.X, wing.Y, wing.Width, wing.Height));
    }

    [Theory]
    [InlineData(Tier.Classification, "{\"category\": \"exterior\", \"angle\": ")]
    [InlineData(Tier.Classification, "[1, 2]")]
    [InlineData(Tier.Classification, "{\"view\": \"exterior.front\", \"suitable_for_expert\": true, \"confidence\": 1}")]
    [InlineData(Tier.Components, "{\"parts\": []}")]
    [InlineData(Tier.Expert, "{\"summary\": \"ok\", \"condition_rating\": \"good\", \"damage\": [], \"recommendations\": []}")]
    public void Parse_AnswerWeCannotRead_IsMalformedAndTransient(Tier tier, string content)
    {
        var e = Assert.Throws<AnalysisException>(() => TierAnswers.Parse(tier, content));

        Assert.Equal(AnalysisFailure.Transient, e.Failure);
        Assert.Contains("malformed answer", e.Message);
    }

    [Fact]
    public void Parse_StoredShape_KeepsTheContractKeys()
    {
        var answer = TierAnswers.Parse(Tier.Classification, new JsonObject
        {
            ["view"] = "interior.dashboard", ["quality_score"] = 8, ["suitable_for_expert"] = true, ["confidence"] = 0.7,
        }.ToJsonString());

        Assert.Equal(["angle", "category", "confidence", "quality_score", "suitable_for_expert"], answer.Select(p => p.Key).Order());
    }
}
